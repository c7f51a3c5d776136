"""The SafeHaven phone app: a GUI-free core (``mobile_client.core``) under Kivy screens."""
