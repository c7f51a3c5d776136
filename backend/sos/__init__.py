"""SOS without a journey: one idempotent request that alerts the resident's contacts."""
