"""``headroom learn``: what keeps going wrong in past agent sessions (issue 21).

- ``transcripts``: the agents' own transcript files, found where they keep them, read as tool calls.
- ``detect``: deterministic detectors over one session's calls, findings per project with evidence.
"""
