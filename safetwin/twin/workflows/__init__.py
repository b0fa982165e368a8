"""Safety workflows: permits to work, hazards (隐患), certificates, alarm handling, risk register, KPIs.

Rules live in plain modules (no web framework); regulations are data files in ``rules/``.
:class:`~safetwin.twin.workflows.service.WorkflowService` joins them to persistence, the audit
chain, notifications and the live twin.
"""
