"""The script `streamlit run` runs (`liveavatar dashboard`).

It lives in a folder of its own: Streamlit treats a `pages/` folder beside the main script
as old-style multipage pages and runs those files instead of this script, which would
bypass `st.navigation` and the guard (the dashboard's page modules are in `pages/`).
"""

from liveavatar.dashboard.main import main

main()
