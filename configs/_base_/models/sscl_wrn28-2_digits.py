# SsCL on WRN-28-2 for the digits demos. Short runs: faster key encoder and BN averages than
XX
_base_ = './sscl_wrn28-2.py'

model = dict(backbone=dict(bn_momentum=0.1), queue_len=1024, momentum=0.99)
