"""srbench's download cache: the cache folder, downloads (mirrors, retries, hashes, offline mode)
and safe extraction of archives. Datasets and weights are fetched through it."""

from srbench.hub.archives import extract
from srbench.hub.downloads import HTTP_TIMEOUT_S, cache_root, download, download_member, offline

__all__ = ["HTTP_TIMEOUT_S", "cache_root", "download", "download_member", "extract", "offline"]
