"""Dependencies of the pages: the advice service the app factory built.

The pages must not import the API (tests/api/test_layering.py), so they get the same
typed service through this twin of ``urbanpulse.api.deps.get_advice_service``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from urbanpulse.advise.service import AdviceService


async def get_advice_service(request: Request) -> AdviceService:
    """The app's advice service (``async``: no thread-pool hop for a lookup)."""
    service: AdviceService = request.app.state.advice
    return service


AdviceServiceDep = Annotated[AdviceService, Depends(get_advice_service)]
