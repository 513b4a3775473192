"""Datasets, training, calibration, ONNX export and evaluation of the image classifier.

Entry points (each module imports its heavy dependencies itself; evaluation needs no torch):

* ``datasets.load_dataset``        any supported layout -> decoded images, labels, skipped files
* ``cifar.build_dataset`` / ``digits.build_dataset``   write a dataset in SageMaker's layout
* ``package.train_model``          data -> a model directory (team/MODEL_DIR.md)
* ``evaluate.evaluate``            model directory + labelled data -> metrics and threshold table
* ``crossval.cross_validate``      an honest held-out estimate of the whole recipe
"""
