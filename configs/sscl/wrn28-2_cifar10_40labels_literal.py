# The CIFAR-10 40-label recipe with the paper's literal contrastive loss: eq. 5's third
# line (form='circle') and class positives for every unlabeled query from the offline
# pseudo-label table. Only that differs (docs/method.md, "Ambiguities and the choices made").
_base_ = './wrn28-2_cifar10_40labels.py'

model = dict(loss_ctr=dict(form='circle'), unlabeled_positives='table')
