"""Loading the insurer's data files (policies, clinics, bills) idempotently."""
