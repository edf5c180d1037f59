"""Alerts: tell staff (e-mail, webhook) when deliveries fail, stop, or an export quarantines too much."""
