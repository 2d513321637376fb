"""The machine srbench runs on: atomic files and hashes (``files``), stat fingerprints and cached
digests (``digests``), names that become paths (``names``), the compute device (``device``),
glibc's allocator (``memory``), optional packages (``extras``) and where a number came from
(``provenance``)."""
