"""Everything that touches SpiffWorkflow: parsing, task specs, scripting, serialization, running.

The rest of the engine talks to this package through Bridgeflow's own types only.
"""
