"""The instructor's grading layer over nbgrader: a sandboxed kernel, a hardened executor and ``make grade``."""
