"""Generation through the Videos API (OpenAI Sora shape, any compatible provider).

    providers.py  named providers: base URL + API key variable + known models (TOML-overridable)
    client.py     the httpx client: create / retrieve / poll / download / remix / list / delete
    errors.py     the policy-vs-runtime error tree and its one mapping table
    jobs.py       the SQLite journal: a paid job is recorded before it is polled
    suite.py      TOML suites of cases
    emulator.py   our local Videos API server (127.0.0.1) with fault injection
    emulator_media.py  what it renders: MP4s (audit.synth), previews, test-only C2PA signing
    webhooks.py   Standard Webhooks signing and verification, and the receiver
    receiver.py   what a verified video event does: download + audit a journaled job
    generate.py   one suite run: journal -> create -> poll -> download -> (clip, source) or finding
"""
