/// Stage two: the Adaptive Feature Generator (method.md §Stage two, steps 1–8).
/// No file I/O in this module: it works on in-memory row blocks.
import Linalg
