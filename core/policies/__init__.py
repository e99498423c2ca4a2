"""Policies: the insurer's programs and policies, and which of them a person has linked."""
