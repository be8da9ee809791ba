"""The clinic in the browser: server-rendered pages (Jinja2, htmx shipped in `static/`).

A thin shell like the API: each page reads or writes through the clinic's services with the
logged-in user's `Actor`, and turns the clinic's refusals into a page with the sentence.

- `settings`: the cookie's secret, https-only flag and idle timeout (env `ITB_CLINIC_*`).
- `session`: the signed login cookie (itsdangerous), the idle timeout and the `Actor` of
  a login session; the API's `current_actor` accepts it too (api/deps.py).
- `csrf`: every form carries the session's token; a POST without it is refused (403).
- `pages` (templates, the error page), `auth` (log in / out), `care` (dashboard, patient
  list and page), `plot` (the timeline PNG), `forms` (screening, symptom call),
  `portal` (the patient's own pages), `app` (`mount`, called by `create_app`).

No module here imports `itb.clinic.api.app`; `session` imports nothing of the API, so the
API may import it (no import circle).
"""
