"""`license-demo eval`: cases set up for real on the native stack, any investigator scored on four steps."""
