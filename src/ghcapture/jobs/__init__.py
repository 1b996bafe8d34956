"""Jobs: the job model, routing, engines and the chunk planner of the bulk lane."""
