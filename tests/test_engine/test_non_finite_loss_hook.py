"""NonFiniteLossHook stops at a NaN or infinite logged loss, and only at a loss."""
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from sscl.engine.hooks.non_finite_loss_hook import NonFiniteLossHook
from sscl.utils.errors import NonFiniteLossError


def runner_with(name, value):
    hub = MessageHub.get_instance(f'non_finite_{name}_{value}')
    hub.update_scalar(name, value)
    hub.update_info('last_ckpt', 'work/iter_2.pth')
    return SimpleNamespace(message_hub=hub, iter=4, epoch=0)


@pytest.mark.parametrize('value, shown', [(float('nan'), 'nan'), (float('inf'), 'inf'),
                                          (float('-inf'), '-inf')])
def test_a_non_finite_loss_stops_training(value, shown):
    with pytest.raises(NonFiniteLossError,
                       match=rf'loss_ctr became {shown} at iteration 5 \(epoch 1\); training '
                       'stopped, the last good checkpoint is work/iter_2.pth'):
        NonFiniteLossHook().after_train_iter(runner_with('train/loss_ctr', value), 4)


def test_finite_losses_and_other_scalars_pass():
    NonFiniteLossHook().after_train_iter(runner_with('train/loss', 1e30), 4)
    NonFiniteLossHook().after_train_iter(runner_with('train/lr', float('inf')), 4)
