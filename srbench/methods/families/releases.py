"""The authors' files of the public checkpoint families (:mod:`srbench.methods.zoo`), declared
as :class:`~srbench.weights.files.WeightFile` entries in one form.

Not a family (families are the sub-packages): the helper the zoo families share, so each of
them states only what differs (registry name, file name, where the authors publish it, and the
hash where one is published).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from srbench.methods.papers import PAPER_DATASETS, PaperScore, paper_table
from srbench.weights.files import WeightFile, declare

__all__ = ["by_scale", "declare_release", "released_file"]


def released_file(
    name: str,
    filename: str,
    url: str,
    used_by: str,
    *,
    sha256: str | None = None,
    sha256_prefix: str = "",
    archive_member: str | None = None,
    unhashed: str = "the authors publish no hash",
    by_hand: str = "",
) -> WeightFile:
    """One released checkpoint of a zoo family.

    Args:
        name: The :data:`srbench.weights.WEIGHTS` key (``hat-l-x4``).
        filename: The file's name in the torch hub cache: the authors' file name.
        url: Where the authors publish it (a direct download, or the shared folder or archive
            it is in; the family's release note says which).
        used_by: The method and tag that load it (``hat (tag hat-l) x4``).
        sha256: The full SHA-256, only where the authors publish one.
        sha256_prefix: The hex digits a file name carries (torch hub style), else empty.
        archive_member: The member's file name, where the file is published inside an archive
            at ``url`` (``srbench weights --fetch`` takes it out).
        unhashed: Why no hash is declared, when neither ``sha256`` nor ``sha256_prefix`` is
            (the file is then pinned to its SHA-256 on first use).
        by_hand: How to get the file, where ``url`` is a page rather than the file (a shared
            folder, an archive whose member name is unknown): ``--fetch`` says so instead.

    Raises:
        ValueError: ``url`` is not https.
    """
    if not url.startswith("https://"):
        raise ValueError(f"{name}: the release URL must be https, got {url!r}")
    return WeightFile(
        name=name,
        filename=filename,
        url=url,
        sha256=sha256,
        sha256_prefix=sha256_prefix,
        used_by=f"method {used_by}",
        archive_member=archive_member,
        unhashed="" if sha256 or sha256_prefix else unhashed,
        by_hand=by_hand,
    )


def declare_release(
    method: str,
    tag: str,
    stem: str,
    files: Mapping[int, tuple[str, str]],
    members: Mapping[int, str] | None = None,
    by_hand: str = "",
) -> dict[int, str]:
    """Declare the files of one tag and return them as a release's ``files``.

    Args:
        method: The family's method name (``hat``).
        tag: The tag (``hat-l``).
        stem: The registry names' stem; each file is ``<stem>-x<scale>``.
        files: Scale -> (the authors' file name, where they publish it). No hash is published
            for any file declared this way.
        members: Scale -> the archive member's file name, for files published inside an
            archive at their URL.
        by_hand: How to get the files when their URL is not a download (see
            :func:`released_file`).

    Returns:
        Scale -> :data:`srbench.weights.WEIGHTS` name, for :class:`~srbench.methods.zoo.Release`.
    """
    declare(
        *(
            released_file(
                f"{stem}-x{s}",
                filename,
                url,
                f"{method} (tag {tag}) x{s}",
                archive_member=(members or {}).get(s),
                by_hand=by_hand,
            )
            for s, (filename, url) in files.items()
        )
    )
    return {s: f"{stem}-x{s}" for s in files}


def by_scale(
    source: str, rows: Mapping[int, Sequence[tuple[float, float | None]]]
) -> tuple[PaperScore, ...]:
    """A paper's rows for one model, written as its table prints them: per scale, one
    ``(psnr, ssim)`` for each of Set5, Set14, BSD100, Urban100 and Manga109, in that order.

    Raises:
        ValueError: A scale does not have exactly five values.

    Example:
        >>> by_scale("T", {4: [(32.0, 0.9)] * 5})[4].dataset
        'Manga109'
    """
    table = {}
    for scale, values in rows.items():
        if len(values) != len(PAPER_DATASETS):
            raise ValueError(f"{source}: x{scale} needs one value per {PAPER_DATASETS}")
        table.update({(d, scale): v for d, v in zip(PAPER_DATASETS, values, strict=True)})
    return paper_table(source, table)
