"""Consultation surveys; service.py explains how answers are kept apart from the people who gave them."""
