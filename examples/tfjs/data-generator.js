// Port of tensorflow/tfjs-examples `data-generator` (index.js, game.js): an endless
// tf.data.generator of simulated card games, mapped to one-hot features (tf.oneHot of int32
// scalars joined with tf.concat) and a label, batched, inspected with take().toArray(), and a
// small dense net trained on it with fitDataset (batchesPerEpoch, a validation dataset with
// validationBatches).
// The only change from a TF.js script is the import. Nothing is downloaded: the game simulator is
// the data, as in the original. Replaced: the UI inputs (batch 100, 5 batches per epoch, 3
// epochs) and tfjs-vis. The original passes tf.data.generator a function returning {value,
// done}; TF.js 4 calls .next() on what the function returns, so this port passes a generator
// function (function*), the form TF.js documents; and where the original maps elements to
// [features, label] arrays (which TF.js 4's batch() no longer keeps as a pair), this port maps
// them to { xs, ys }, the element form fitDataset documents.
'use strict';
const tf = require('../..');
const { runExample } = require('./harness');

// game.js: two hands of three cards in 1..13; triples beat doubles beat high cards.
const GAME_STATE = { num_simulations_so_far: 0, min_card_value: 1, max_card_value: 13, num_cards_per_hand: 3 };
const MAX_CARD_VALUE = GAME_STATE.max_card_value;

function getRandomDigit() {
  return Math.floor(GAME_STATE.min_card_value + Math.random() * GAME_STATE.max_card_value);
}

function randomHand() {
  const hand = [];
  for (let i = 0; i < GAME_STATE.num_cards_per_hand; i++) hand.push(getRandomDigit());
  return hand.sort((a, b) => a - b);
}

function handScoringHelper(hand) {
  const faceValOfEachGroup = new Array(GAME_STATE.num_cards_per_hand).fill(0);
  let runLength = 0;
  let prevVal = 0;
  for (const card of hand) {
    if (card === prevVal) runLength += 1;
    else { prevVal = card; runLength = 1; }
    faceValOfEachGroup[runLength - 1] = card;
  }
  return faceValOfEachGroup;
}

function compareHands(hand1, hand2) {
  const s1 = handScoringHelper(hand1);
  const s2 = handScoringHelper(hand2);
  for (let group = GAME_STATE.num_cards_per_hand - 1; group >= 0; group--) {
    if (s1[group] > s2[group]) return 1;
    if (s1[group] < s2[group]) return 0;
  }
  return Math.random() > 0.5 ? 1 : 0;
}

function generateOnePlay() {
  const player1Hand = randomHand();
  const player2Hand = randomHand();
  const player1Win = compareHands(player1Hand, player2Hand);
  GAME_STATE.num_simulations_so_far++;
  return { player1Hand, player2Hand, player1Win };
}

// index.js
const GAME_GENERATOR_DATASET = tf.data.generator(function* () {
  while (true) yield generateOnePlay();
});

function gameToFeaturesAndLabel(gameState) {
  const features = tf.concat([
    tf.oneHot(tf.scalar(gameState.player1Hand[0] - 1, 'int32'), MAX_CARD_VALUE),
    tf.oneHot(tf.scalar(gameState.player1Hand[1] - 1, 'int32'), MAX_CARD_VALUE),
    tf.oneHot(tf.scalar(gameState.player1Hand[2] - 1, 'int32'), MAX_CARD_VALUE),
  ]);
  const label = tf.tensor1d([gameState.player1Win]);
  return { features, label };
}

function createDNNModel() {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [3 * MAX_CARD_VALUE], units: 10, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 10, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  return model;
}

async function main() {
  const batchSize = 100;
  const arr = await GAME_GENERATOR_DATASET.map(gameToFeaturesAndLabel).batch(batchSize).take(2).toArray();
  if (arr.length !== 2 || arr[0].features.shape.join() !== `${batchSize},${3 * MAX_CARD_VALUE}` || arr[0].label.shape.join() !== `${batchSize},1`) {
    throw new Error(`batched shapes ${arr[0] && arr[0].features.shape} / ${arr[0] && arr[0].label.shape}`);
  }

  const model = createDNNModel();
  model.compile({ optimizer: 'rmsprop', loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  const dataset = GAME_GENERATOR_DATASET
    .map(gameToFeaturesAndLabel)
    .map((a) => ({ xs: a.features, ys: a.label }))
    .batch(batchSize);
  const [oneBatch] = await dataset.take(1).toArray();
  console.log('one batch:', oneBatch.xs.shape, oneBatch.ys.shape);

  const EPOCHS = 3;
  const trainLogs = [];
  const before = GAME_STATE.num_simulations_so_far;
  await model.fitDataset(dataset, {
    batchesPerEpoch: 5,
    epochs: EPOCHS,
    validationData: dataset,
    validationBatches: 2,
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        trainLogs.push(logs);
        console.log(`epoch ${epoch + 1}: loss ${logs.loss.toFixed(3)} acc ${logs.acc.toFixed(3)} val_loss ${logs.val_loss.toFixed(3)} val_acc ${logs.val_acc.toFixed(3)}`);
      },
    },
  });
  const played = GAME_STATE.num_simulations_so_far - before;
  if (trainLogs.length !== EPOCHS) throw new Error(`${trainLogs.length} epochs`);
  const last = trainLogs[trainLogs.length - 1];
  return `${played} games simulated during fitDataset, loss ${last.loss.toFixed(3)}, val_acc ${last.val_acc.toFixed(3)}`;
}

runExample('data-generator', main);
