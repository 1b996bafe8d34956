"""What the store says about captures: metrics, the cost report, alerts and the dashboard."""
