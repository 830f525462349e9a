"""IAM and key policy documents as plain Python dicts (turned into JSON by the components)."""
