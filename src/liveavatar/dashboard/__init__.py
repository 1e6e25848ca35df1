"""The admin dashboard: a Streamlit app over the same store and media interfaces as the
backend (`liveavatar dashboard`; docs/DASHBOARD.md). It never imports the backend app, the
bridge or the Live client."""
