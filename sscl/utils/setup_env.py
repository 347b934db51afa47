"""Register every sscl module and make ``sscl`` the default registry scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every sscl package so that its modules are registered.

    Args:
        init_default_scope: make ``sscl`` the current default scope, so that
            ``MODELS.build(dict(type='SsCL'))`` resolves in sscl's registries.
    """
    import sscl.datasets  # noqa: F401
    import sscl.engine  # noqa: F401
    import sscl.evaluation  # noqa: F401
    import sscl.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is not None and current.scope_name == 'sscl':
        return
    if current is None:
        DefaultScope.get_instance('sscl', scope_name='sscl')
        return
    warnings.warn(f'The current default scope "{current.scope_name}" is not "sscl"; '
                  '`register_all_modules` creates a new scope named "sscl".')
    DefaultScope.get_instance(f'sscl-{datetime.datetime.now()}', scope_name='sscl')
