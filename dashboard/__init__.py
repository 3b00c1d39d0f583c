"""The business dashboard over the published marts (Streamlit): revenue, transaction volumes, fraud, non-performing
loans and NPS, filtered by month, client segment and source bank.

It reads only schema `marts`, whose views publishing/publish.py moves to a night once every gate passed, so the
dashboard shows the last published night and never a half-built one. `bankwh dashboard` starts it.
"""
