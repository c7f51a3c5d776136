"""The deployment's settings announced to the phone app."""
