"""Franchise (co-payment) activation, cards, bills, charges, debts and service regions."""
