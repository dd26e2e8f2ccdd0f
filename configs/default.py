"""Default study: a width family of plain CNNs on PneumoniaMNIST (28x28).

Sized to finish on a 2-core laptop CPU in minutes. `arg` selects a variant:
  ''       the default study;
  'smoke'  seconds-long version for tests and a first try.

Override any field from the command line, e.g.
  --config=configs/default.py --config.model.widths='(0.5, 1.0)'
"""

import ml_collections

# The paper's grid, in units of 1/255: 0; 0.01 ... 0.09; 0.1 ... 0.9; 1 ... 9; 10.
PAPER_EPS_255 = ((0.0,) + tuple(round(0.01 * i, 2) for i in range(1, 10))
                 + tuple(round(0.1 * i, 1) for i in range(1, 10))
                 + tuple(float(i) for i in range(1, 11)))


def get_config(arg: str = '') -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # Training seeds: the replicates of every interval (at least analysis.min_seeds).
  config.seeds = (0, 1, 2, 3, 4)
  # Cell groups (the seeds of one model, size and training mode, docs/scaling.md):
  # 'on' trains a group as one program (a leading seed axis, split over the
  # devices); 'auto' does so on GPU/TPU and trains the seeds one by one on a CPU
  # (where XLA runs the vmapped convolutions slower per seed); with either,
  # --config.cell=K runs K's whole group. 'off': each cell on its own.
  config.seed_groups = 'auto'
  # Run only cell k of the study's cell list (launchers spread cells over
  # processes and machines); -1 runs every cell.
  config.cell = -1
  # Folder of JAX's persistent compilation cache (runtime/compilation_cache.py):
  # equal programs of later cells, seeds and runs load instead of compiling;
  # '' = off. Numbers do not depend on it.
  config.compilation_cache_dir = '~/.cache/medadv_jax/xla'

  config.data = ml_collections.ConfigDict()
  # A MedMNIST 2D subset (pathmnist, chestmnist, dermamnist, octmnist,
  # pneumoniamnist, retinamnist, breastmnist, bloodmnist, tissuemnist,
  # organamnist, organcmnist, organsmnist), or one of the paper's image folders
  # (chest_xray_folder, oct_folder, dermoscopy_folder) found at data.dir.
  config.data.name = 'pneumoniamnist'
  config.data.size = 28  # MedMNIST: 28, 64, 128 or 224; image folders: resized to this.
  config.data.dir = ''  # Folder with the official npz; else $MEDMNIST_DIR, the cache.
  config.data.grey_to_rgb = False  # Stack grey images to 3 channels (every source).
  # Non-empty: prepare and read the data through the tensorflow-datasets builders
  # (array_record files in this folder) instead of reading the npz / images directly.
  config.data.tfds_dir = ''
  # 'official': the source's splits; 'pooled': the paper's protocol, all splits
  # pooled and re-split by split_fractions (train, val, test), stratified by
  # class, with each of config.seeds (the paper: 10 seeds).
  config.data.split = 'official'
  config.data.split_fractions = (0.71, 0.145, 0.145)
  config.data.cache_dir = '~/.cache/medadv_jax/medmnist'
  config.data.download = True
  config.data.verify_md5 = True
  config.data.train_limit = 0  # Use only the first N training images; 0 = all.
  # Test images attacked per class and seed; 0 = all. Every size of a seed is
  # attacked on the same images, so sizes are compared image by image.
  config.data.attack_per_class = 50
  # On-device training augmentation (the paper's Keras ImageDataGenerator):
  # random shifts up to shift_frac of the side (0 = none) and left-right flips;
  # hflip 'auto' flips unless a class names a body side (OrganMNIST's
  # kidney-left / kidney-right), 'on' or 'off'.
  config.data.augment = ml_collections.ConfigDict()
  config.data.augment.shift_frac = 0.1
  config.data.augment.hflip = 'auto'

  config.model = ml_collections.ConfigDict()
  # Registry names (families or named presets), or import paths of Linen modules
  # with num_classes and width fields, e.g. 'my_pkg.nets:MyNet'.
  config.model.names = ('cnn',)
  config.model.widths = (0.125, 0.25, 0.5, 1.0)
  config.model.depths = ()  # Empty: each family's own depth.

  config.train = ml_collections.ConfigDict()
  # 'standard', 'pgd' (Madry et al.), 'fgsm_rs' (FGSM from a random start,
  # Wong et al. 2020) or 'trades' (Zhang et al. 2019).
  config.train.modes = ('standard', 'pgd')
  # Training length (training/length.py). min_steps > 0 sets it in optimiser
  # steps, the same for every training-set size: at least min_steps (whole
  # epochs), then on while the validation score improves (stop after
  # patience_steps steps without a better one), at most max_steps; the
  # best-validation weights are kept. min_steps = 0: `epochs` epochs, fewer with
  # early_stopping_patience (the paper's protocol, configs/paper.py).
  config.train.min_steps = 500
  config.train.max_steps = 1200
  config.train.patience_steps = 150
  config.train.epochs = 6
  config.train.batch_size = 64  # Global: split over all devices (a multiple of their number).
  config.train.eval_batch_size = 1024
  # The paper's recipe: optimizer='adam', learning_rate=1e-3, schedule='step',
  # decay_epochs=(80,), plateau.patience=5, batch_size=32, epochs=100.
  config.train.optimizer = 'adam'  # 'adam' or 'sgd' (with momentum).
  config.train.learning_rate = 1e-3
  config.train.momentum = 0.9  # sgd only; 0 = plain SGD.
  config.train.nesterov = False  # sgd only.
  # 'constant'; 'step': x decay_factor after each of decay_epochs; 'cosine': to 0
  # at the last epoch.
  config.train.schedule = 'constant'
  config.train.decay_epochs = ()
  config.train.decay_factor = 0.1
  # Reduce-on-plateau of the validation loss (robust loss for adversarial
  # modes), once per epoch, with Keras' semantics; patience 0 = off.
  config.train.plateau = ml_collections.ConfigDict()
  config.train.plateau.patience = 0
  config.train.plateau.factor = 0.31622776601683794  # sqrt(0.1), as in the paper.
  config.train.plateau.min_delta = 1e-4  # Smaller loss improvements do not count.
  config.train.plateau.min_learning_rate = 5e-7
  config.train.l2_coeff = 1e-4  # L2 in the loss on conv and dense kernels, as in the paper.
  config.train.weight_decay = 0.0  # Decoupled (AdamW) / SGD weight decay on kernels.
  # With min_steps = 0: stop after this many epochs without a better validation
  # score; 0 = never.
  config.train.early_stopping_patience = 0
  # Also measure PGD validation accuracy of standard training (costs a PGD pass).
  config.train.robust_val_standard = False
  config.train.checkpoint_every_steps = 0  # Also mid-epoch; 0 = at epoch ends only.
  # Epoch-end checkpoints at least this many steps apart, and the last one; 0 =
  # every epoch. Saving is most of a small epoch's time; a kill repeats at most
  # this many steps, to the same numbers.
  config.train.checkpoint_min_steps = 200
  config.train.keep_checkpoints = 1  # Newest N checkpoints kept (each holds the best weights).
  config.train.log_every_steps = 25  # Train-metric rows in metrics.jsonl / TensorBoard.
  config.train.adv = ml_collections.ConfigDict()
  config.train.adv.eps_255 = 2.0
  # PGD and TRADES steps (also the validation PGD's) and their length (x eps):
  # 2 steps of 0.75 eps from a random start reach the far side of the small
  # training ball (FGSM from a random start, one step, already trains robust
  # models at this radius; Wong et al. 2020); configs/paper.py trains with 5
  # of 0.25 eps.
  config.train.adv.steps = 2
  config.train.adv.step_size_frac = 0.75
  config.train.adv.fgsm_step_frac = 1.25  # fgsm_rs step, x eps (Wong et al.).
  config.train.adv.trades_beta = 6.0  # TRADES' weight of the KL term.
  # fgsm_rs: stop when PGD validation accuracy falls this far below its best
  # (catastrophic overfitting); 0 = never.
  config.train.adv.overfit_drop = 0.2
  # BatchNorm while crafting training attacks: 'batch' statistics of the batch
  # being attacked (as the following training pass), or 'running' averages.
  config.train.adv.bn_mode = 'batch'

  # Whether a trained model is fit to enter a verdict (evaluation/fitness.py):
  # flagged when one class takes at least max_class_share of its test
  # predictions, when the lower end of the 95 % interval of its balanced
  # accuracy is not above chance (1 / classes) by chance_margin, or when training
  # stopped at its cap while the validation score's mean over the last
  # improving_window of its epochs beat that over as many epochs before by more
  # than improving_delta (under-trained; about twice the noise of that
  # difference for PneumoniaMNIST's 524 validation images).
  # Flagged models stay in the tables; the plan (analysis) says how verdicts treat them.
  config.fitness = ml_collections.ConfigDict()
  config.fitness.max_class_share = 0.95
  config.fitness.chance_margin = 0.02
  config.fitness.improving_window = 0.25
  config.fitness.improving_delta = 0.02

  # The analysis plan (docs/study.md), fixed before the cells run; written to plan.json.
  config.analysis = ml_collections.ConfigDict()
  config.analysis.name = 'default'  # Names the plan's answers beside other plans'.
  config.analysis.min_seeds = 5  # No verdict on fewer seeds (config.seeds must have them).
  config.analysis.min_sizes = 3  # Fit sizes a seed needs to enter claim (a).
  config.analysis.alpha = 0.05  # Two-sided level; TOST tests each side at alpha.
  config.analysis.exclusion = 'out_with_sensitivity'  # Flagged models: out, and a sensitivity row.
  config.analysis.secondary = ('matched_set', 'log_min_eps', 'clean_slope', 'adjusted_slope')
  config.analysis.cross_study_holm = 'claims_and_studies'  # launch/cross_study.py's family.
  # Models analysed (names of model.names): () every one; a subset is a planned
  # secondary view (e.g. the ResNets without CBR-LargeT), run by launch/reanalyse.py.
  config.analysis.models = ()
  config.analysis.size = ml_collections.ConfigDict()  # Claim (a): robustness falls with size.
  config.analysis.size.endpoint = 'robust_slope'  # Per-seed slope on log2(parameters).
  config.analysis.size.mode = 'standard'
  config.analysis.size.band_255 = (0.5, 4.0)  # Radii (x 1/255) averaged, inclusive.
  config.analysis.size.floor = 0.05  # Radii where every size is at or below it are dropped.
  config.analysis.size.margin = 0.01  # Robust accuracy per doubling that counts as none.
  config.analysis.training = ml_collections.ConfigDict()  # Claim (b): adversarial training helps.
  config.analysis.training.endpoint = 'paired_gain'  # Per size: mode minus baseline, same images.
  config.analysis.training.mode = 'pgd'
  config.analysis.training.baseline = 'standard'
  config.analysis.training.band_255 = (0.5, 4.0)
  config.analysis.training.margin = 0.03  # Robust accuracy gain that counts as none.
  config.analysis.training.holm = 'sizes'  # Holm over the sizes' gains.

  # The decision-boundary figure: penultimate features of this many attacked test
  # images per cell, clean and after PGD at the grid radius nearest embedding_eps_255.
  config.report = ml_collections.ConfigDict()
  config.report.embedding_images = 64  # 0: no embedding, no figure.
  config.report.embedding_eps_255 = 4.0

  config.attack = ml_collections.ConfigDict()
  # Any of 'fgsm', 'pgd', 'pgd_l2', 'apgd_ce', 'apgd_dlr' (margin loss on binary
  # tasks), 'square' (gradient-free); each is run for every target below, and
  # the report adds their per-image worst case ('ensemble'). At least one must
  # be L-inf (all but pgd_l2): the report's tables and verdicts are L-inf.
  config.attack.names = ('fgsm', 'pgd')
  config.attack.targets = ('least_likely', 'untargeted')
  # On 2-class tasks the least-likely target of fgsm, pgd and pgd_l2 is the other
  # class, and their steps are those of the untargeted attack (the two losses'
  # gradients point the same way): run it once, untargeted. False runs both.
  config.attack.skip_binary_least_likely = True
  config.attack.eps_255 = PAPER_EPS_255
  config.attack.pgd_steps = 20  # The paper: 20 steps of 0.1 eps.
  config.attack.pgd_step_size_frac = 0.1
  config.attack.random_start = True  # PGD and APGD.
  config.attack.restarts = 1  # Random restarts of pgd, pgd_l2, apgd_*, square.
  config.attack.apgd_steps = 100  # Croce and Hein's default budget.
  config.attack.square_queries = 1000
  config.attack.square_p_init = 0.8  # Initial window area fraction (reference default).
  # pgd_l2 radius = scale x eps; 0: sqrt(H W C), the L2 ball containing the L-inf ball.
  config.attack.l2_eps_scale = 0.0
  # How the grid is run: 'vmap' (all eps in one program; GPU/TPU), 'loop' (one eps
  # at a time), 'cascade' (ascending, attacking only images still correct and not
  # certified by interval bounds; same verdicts as vmap, cheaper on CPU),
  # 'min_eps' (bisection for each image's smallest fooling radius; log2 of the
  # grid's attacks per image) or 'auto' (vmap on GPU/TPU, cascade on CPU).
  config.attack.schedule = 'auto'
  # Bound on eps x examples per compiled attack program and device (memory and
  # cache use); a program split over D devices holds up to D times as many.
  config.attack.max_images_per_program = 1024
  config.attack.sanity = ml_collections.ConfigDict()
  # Accuracy differences up to this (fraction of images) count as equal.
  config.attack.sanity.tolerance = 0.03
  # Radius (x 1/255) of the large-radius check; 255, the whole pixel box: every
  # model must fall to an accuracy of at most the tolerance; smaller: to at most
  # the most common class share.
  config.attack.sanity.large_eps_255 = 255.0
  # Radii (x 1/255) at which the reference attack is rerun with twice the steps;
  # empty: skip that check.
  config.attack.sanity.more_steps_eps_255 = (2.0, 8.0)
  # Certified images attacked per model to check its certificates (at each one's
  # largest certified radius, with the strong attack's gradient attacks); a
  # single one fooled and the model is evaluated without certificates. 0: off.
  config.attack.sanity.certificate_sample = 32
  # The strong verdict attack (evaluation/strong.py): AutoAttack's ensemble
  # (APGD-CE; APGD-DLR targeted at the target_classes most likely other classes,
  # the margin loss on binary tasks; Square), each on the images every earlier
  # attack left correct, at these radii (x 1/255, in attack.eps_255; () = off).
  # The report's worst case and verdicts include it. Budgets: the reference
  # implementation's (Croce and Hein 2020, 'standard' version), but APGD-CE with
  # 5 restarts (as its 'plus' version: with 1, the audit's APGD-CE x5 fooled up
  # to 2 of 48-61 audited images per size the study called robust, above the
  # tolerance, docs/measured.md) and Square with 300 queries instead of 5000, so
  # that the default study fits a laptop CPU (configs/paper.py runs 5000).
  config.attack.strong = ml_collections.ConfigDict()
  config.attack.strong.eps_255 = (0.5, 1.0, 2.0, 4.0, 8.0)
  config.attack.strong.apgd_steps = 100
  config.attack.strong.apgd_restarts = 5
  config.attack.strong.target_classes = 9
  config.attack.strong.square_queries = 300
  config.attack.strong.square_restarts = 1
  config.attack.strong.square_p_init = 0.8
  # The audit (evaluation/audit.py): on `images` attacked images drawn from the
  # seed alone (the same for every size; the clean-correct ones are kept), at
  # these radii (x 1/255, in attack.eps_255), AutoAttack's full budget: FAB-T,
  # APGD-CE x apgd_restarts, APGD-DLR and FAB at the target_classes most likely
  # other classes, Square; its shortfall (images the study's worst case calls
  # robust that it fools) enters the report. images = 0: off. The reference's
  # budgets, but 16 images and Square at 1000 queries, so that the default study
  # fits a laptop CPU (configs/paper.py: 32 and 5000; cost: docs/measured.md).
  config.attack.audit = ml_collections.ConfigDict()
  config.attack.audit.images = 16
  config.attack.audit.eps_255 = (0.5, 1.0, 2.0, 4.0, 8.0)
  config.attack.audit.apgd_steps = 100
  config.attack.audit.apgd_restarts = 5
  config.attack.audit.target_classes = 9
  config.attack.audit.fab_steps = 100
  config.attack.audit.square_queries = 1000
  config.attack.audit.square_p_init = 0.8

  if arg == 'smoke':
    config.seeds = (0,)
    config.analysis.min_seeds = 1  # Too few for a verdict: the report says so.
    config.data.train_limit = 256
    config.data.attack_per_class = 8
    config.model.widths = (0.25, 0.5)
    config.train.min_steps = 0
    config.train.epochs = 2
    config.train.checkpoint_min_steps = 0  # Every epoch: kill tests resume mid-run.
    config.train.adv.steps = 2
    config.attack.pgd_steps = 3
    config.attack.apgd_steps = 5
    config.attack.square_queries = 20
    config.attack.sanity.more_steps_eps_255 = (8.0,)
    config.attack.strong.apgd_steps = 5
    config.attack.strong.square_queries = 20
    config.attack.audit.images = 8
    config.attack.audit.apgd_steps = 5
    config.attack.audit.apgd_restarts = 2
    config.attack.audit.fab_steps = 5
    config.attack.audit.square_queries = 20
  elif arg:
    raise ValueError(f"configs/default.py: unknown arg {arg!r}; allowed: '' or 'smoke'")
  return config
