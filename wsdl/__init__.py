"""The contracts as data: ``altinn/`` (what we publish, golden copies), ``krr/`` (what we consume),
``postbox/`` (our vendor contract). A package only so that an installed innbyggerpost carries them."""
