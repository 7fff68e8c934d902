"""The sandbox payment provider (the "bank"): a stand-in for a licensed provider, for development and
tests. It is not part of the production code path: ``commerce/`` never imports it; ``live`` mounts it
in-process only when ``PAYMENT_PROVIDER=sandbox`` and no ``PAYMENT_SANDBOX_URL`` is set.

- ``bank.py``: its ledger, notifier and statements (``SandboxBank``)
- ``app.py``: its HTTP face (``create_app``)
- ``__main__.py``: ``python -m sandbox.payments --port 8700`` runs it as its own service
- ``wechatpay.py``: notifications signed as WeChat Pay signs them, for rehearsing that provider
"""
