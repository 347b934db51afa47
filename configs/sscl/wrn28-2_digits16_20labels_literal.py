# The 16 px digits benchmark with the paper's literal contrastive loss: eq. 5's third line
# (form='circle') and class positives for every unlabeled query from the offline
# pseudo-label table. Only that differs. Its embedding collapses (mean cosine 0.9999,
# docs/design.md, "The contrastive branch") and the collapse guard stops the run.
_base_ = './wrn28-2_digits16_20labels.py'

model = dict(loss_ctr=dict(form='circle'), unlabeled_positives='table')
