"""Development and test support that production never imports."""
