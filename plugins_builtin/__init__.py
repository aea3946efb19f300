"""mockllm's builtin plugins, one module per provider or transport family.

Each module is registered as ``builtin.<module>`` with trylast hookimpls, so any installed
plugin that implements the same key wins over it.
"""
