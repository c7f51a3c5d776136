"""The GUI-free core of the app: API client, sign-in, state, location and offline outbox.

Nothing here imports Kivy, so it runs and is tested without a window."""
