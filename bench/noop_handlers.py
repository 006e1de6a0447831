"""The benchmark's handler: does nothing, as the peers' no-op tasks do."""


async def noop(job):
    return None


HANDLERS = {"noop": noop}
