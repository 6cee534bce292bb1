"""The GAN: players, losses written as the value function, the steps of the minimax game, run state, pictures."""
from minigan.gan.losses import (
    LOSS_CHOICES, LOSSES, PROBABILITY_LOSSES, clip_weights_, discriminator_loss, fake_loss, generator_loss,
    gradient_penalty, played, r1_penalty, real_loss, refuse_batch_norm, value_function)
from minigan.gan.models import (
    ARCHS, D_NORMS, DEFAULT_D_NORM, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator,
    build_models, class_labels, class_names, count_parameters, dcgan_init_, default_config, list_classes)
from minigan.gan.plots import plot_curves, save_animation, save_figure, save_grid, tile
from minigan.gan.averaging import AveragedGenerator, recompute_batch_norm
from minigan.gan.run import (
    CHECKPOINT_NAME, GENERATORS, FolderInUse, StopRequests, claim_folder, load_generator, read_run, resume_run,
    save_run)
from minigan.gan.sampling import generate, to_pixels
from minigan.gan.training import (
    DEFAULT_BATCH_SIZE, DEFAULT_STEPS, FIGURES, TrainingDiverged, check_finite, figure_names, frozen, grad_norm,
    sample_noise, to_numbers, train_step)
