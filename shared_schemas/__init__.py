"""The contract between the SafeHaven server and its app: marshmallow schemas and enums.

Imports only marshmallow and the standard library, so the phone app can use it too."""
