"""One service per workflow record type, on a shared :class:`.context.WorkflowContext`.

:mod:`.permits`, :mod:`.gas_tests`, :mod:`.certificates`, :mod:`.hazards`, :mod:`.alarm_cases`,
:mod:`.risk_register`, :mod:`.kpis`; :mod:`.twin_link` (twin alarms → cases and suspensions) and
:mod:`.due_jobs` (the time-driven jobs). The rules they apply are the plain modules one level up
(:mod:`safetwin.twin.workflows.permits`, ``hazards``, …);
:class:`~safetwin.twin.workflows.service.WorkflowService` is the façade over all of them.
"""
