"""mmengine's CheckpointHook with crash-safe writing on local disks."""
import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from sscl.registry import HOOKS

TMP_SUFFIX = '.tmp'


def replace_atomically(tmp_path: str, path: str) -> None:
    """Flush ``tmp_path`` to disk and rename it to ``path`` (atomic on POSIX)."""
    with open(tmp_path, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, path)
    folder = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(folder)  # make the rename itself durable
    finally:
        os.close(folder)


def write_text_atomically(text: str, path: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new content, never a
    truncated file."""
    tmp_path = path + TMP_SUFFIX
    with open(tmp_path, 'w') as f:
        f.write(text)
    replace_atomically(tmp_path, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose checkpoints survive a kill at any moment.

    mmengine writes ``epoch_N.pth`` in place, then ``last_checkpoint``, and deletes the oldest
    kept checkpoint *before* writing the new one, so a kill while saving can leave a truncated
    checkpoint, a truncated ``last_checkpoint``, or (with ``max_keep_ckpts=1``) no checkpoint
    at all. On a local disk this hook writes each file to ``<name>.tmp``, fsyncs it and
    renames it, updates ``last_checkpoint`` the same way, and deletes outdated checkpoints
    only after that. Leftover ``.tmp`` files of a killed run are removed at the next start.
    Arguments are those of :class:`mmengine.hooks.CheckpointHook`; other storage backends
    fall back to its behaviour.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._local() and is_main_process():
            for stale in glob.glob(osp.join(self.out_dir, '*' + TMP_SUFFIX)):
                runner.logger.warning(f'removing {stale}, left by an interrupted save')
                os.remove(stale)

    def _local(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids[0]
            self.keep_ckpt_ids.append(step)  # the deque drops the outdated id
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename + TMP_SUFFIX,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        replace_atomically(self.last_ckpt + TMP_SUFFIX, self.last_ckpt)
        write_text_atomically(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        if outdated is not None:
            path = osp.join(self.out_dir, self.filename_tmpl.format(outdated))
            if osp.isfile(path):
                os.remove(path)
