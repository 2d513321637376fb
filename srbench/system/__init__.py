"""The machine srbench runs on: atomic files and hashes (``files``), the compute device
(``device``), glibc's allocator (``memory``), optional packages (``extras``) and where a number
came from (``provenance``)."""
