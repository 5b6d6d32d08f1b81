// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title ReliabilityRegistry
/// @notice Reliability of data sources (trainers, aggregators, retrieval sources), per `bytes32`
///         id, in two independent kinds of record. Anyone can read; only `WRITER_ROLE` can write.
///         1. Value-weighted evidence (`recordEvidence`, what JobMarket writes): per (source,
///            token), the sum of the weights of its observations and the weighted sum of the
///            observations, readable as a weighted mean with the total weight behind it
///            (`weightedMean`). A weight is a value in the token's base units (JobMarket: what
///            the observed trainer had at stake in the round), so evidence from cheap jobs moves
///            the mean little and a reader can count only the evidence of a token it values
///            (address(0) = ETH). Weights of different tokens are never added.
///         2. An unweighted exponential moving average (`update`, `updateBatch`, `get`), with its
///            number of observations and the time of its last update, for writers that have no
///            value to weigh by. JobMarket does not write it: a 1-wei job could move it as much as
///            a real one (contracts/README.md, "Threat model", 5).
/// @dev A trainer's id is `bytes32(uint256(uint160(trainer)))` (see `idOf`).
///      Moving-average rule: the first observation sets the score; later ones set
///      `score <- score + weight * (observation - score)`, rounded down, with `weight` in 1e18 fixed
///      point. The batch functions exist to amortise the per-transaction and per-call costs over
///      many sources: they write each record once and emit a single event for the batch.
contract ReliabilityRegistry is AccessControl {
    /// @notice May write observations.
    bytes32 public constant WRITER_ROLE = keccak256("WRITER_ROLE");
    /// @notice May change the moving-average weight.
    bytes32 public constant CONFIG_ROLE = keccak256("CONFIG_ROLE");
    /// @notice Fixed-point one (scores, observations and the weight use 18 decimals).
    uint256 public constant ONE = 1e18;

    /// @notice A source's record: all three fields share one storage slot.
    /// @param score Reliability in [0, ONE].
    /// @param observations Number of observations folded in.
    /// @param lastUpdate Timestamp of the last observation.
    struct Record {
        uint64 score;
        uint64 observations;
        uint64 lastUpdate;
    }

    /// @notice A source's value-weighted evidence in one token: all three fields share one
    ///         storage slot. The weighted mean of its observations is `weightedSum * ONE / weight`.
    /// @param weight Sum of the weights of its observations, in the token's base units; it
    ///        saturates at 2^112 - 1 (an observation that would overflow it counts with the
    ///        weight left below that bound, 0 once it is reached).
    /// @param weightedSum Sum of `weight_k * observation_k / ONE` (each rounded down), so at most
    ///        `weight`.
    /// @param observations Number of observations recorded.
    struct Evidence {
        uint112 weight;
        uint112 weightedSum;
        uint32 observations;
    }

    /// @notice Moving-average weight of a new observation, in (0, ONE].
    uint64 public weight;

    /// @dev score | observations << 64 | lastUpdate << 128 (one slot per source).
    mapping(bytes32 id => uint256) internal records;

    /// @dev weight | weightedSum << 112 | observations << 224 (one slot per source and token).
    mapping(bytes32 id => mapping(address token => uint256)) internal evidenceOf;

    /// @notice An observation is above ONE; raised by `update` and `updateBatch` (nothing of a
    ///         batch is written).
    /// @param index Position in the batch (0 for a single update).
    /// @param observation The offending value.
    error ObservationOutOfRange(uint256 index, uint256 observation);
    /// @notice The weight is 0 or above ONE; raised by the constructor and `setWeight`.
    /// @param weight The offending value.
    error InvalidWeight(uint256 weight);
    /// @notice `updateBatch` or `recordEvidence` with `ids` and `observations` (or `weights`) of
    ///         different lengths.
    /// @param ids Length of `ids`.
    /// @param observations Length of `observations` (or of `weights`).
    error LengthMismatch(uint256 ids, uint256 observations);

    /// @notice `update`: one observation was folded into one source's record.
    /// @param id The source.
    /// @param observation The observation, in [0, ONE].
    /// @param score The source's score after the update, in [0, ONE].
    /// @param observations The source's number of observations after the update.
    event ReliabilityUpdated(bytes32 indexed id, uint256 observation, uint256 score, uint256 observations);
    /// @notice `updateBatch`: `observations[k]` was folded into `ids[k]`'s record, for every k,
    ///         in order (one event for the batch; the new records are read with `getBatch`).
    /// @param ids The sources, as given (an id may repeat).
    /// @param observations The observations, in [0, ONE], one per id.
    event ReliabilityBatchUpdated(bytes32[] ids, uint256[] observations);
    /// @notice `recordEvidence`: `observations[k]` with weight `weights[k]` was added to `ids[k]`'s
    ///         evidence in `token`, for every k, in order (one event for the batch; the new
    ///         evidence is read with `evidenceBatch`).
    /// @param token The token the weights are in (address(0) for ETH).
    /// @param ids The sources, as given (an id may repeat).
    /// @param observations The observations, in [0, ONE], one per id.
    /// @param weights Their weights, in the token's base units, one per id.
    event EvidenceRecorded(address indexed token, bytes32[] ids, uint256[] observations, uint256[] weights);
    /// @notice The moving-average weight changed: set by the constructor (from 0) or by
    ///         `setWeight`.
    /// @param oldWeight The previous weight (0 at deployment).
    /// @param newWeight The new weight, in (0, ONE].
    event WeightChanged(uint256 oldWeight, uint256 newWeight);

    /// @notice Deploys the registry.
    /// @param admin Holder of the admin and config roles (grants `WRITER_ROLE`).
    /// @param weight_ Initial moving-average weight in (0, ONE].
    constructor(address admin, uint256 weight_) {
        _checkWeight(weight_);
        weight = uint64(weight_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(CONFIG_ROLE, admin);
        emit WeightChanged(0, weight_);
    }

    /// @notice The id of a trainer (or any account) in this registry.
    /// @param account The account.
    /// @return The account as a left-padded `bytes32`.
    function idOf(address account) external pure returns (bytes32) {
        return bytes32(uint256(uint160(account)));
    }

    /// @notice Sets the moving-average weight.
    /// @param newWeight New weight in (0, ONE].
    function setWeight(uint256 newWeight) external onlyRole(CONFIG_ROLE) {
        _checkWeight(newWeight);
        emit WeightChanged(weight, newWeight);
        weight = uint64(newWeight);
    }

    /// @notice Folds one observation into one source's record.
    /// @param id The source.
    /// @param observation Observation in [0, ONE].
    function update(bytes32 id, uint256 observation) external onlyRole(WRITER_ROLE) {
        if (observation > ONE) revert ObservationOutOfRange(0, observation);
        uint256 packed = _fold(records[id], observation, weight);
        records[id] = packed;
        emit ReliabilityUpdated(id, observation, uint64(packed), uint64(packed >> 64));
    }

    /// @notice Folds `observations[k]` into `ids[k]`'s record, for every k, in one call.
    /// @dev An id may appear more than once; its observations are folded in order.
    /// @param ids The sources.
    /// @param observations Observations in [0, ONE], one per id.
    function updateBatch(bytes32[] calldata ids, uint256[] calldata observations) external onlyRole(WRITER_ROLE) {
        uint256 len = ids.length;
        if (observations.length != len) revert LengthMismatch(len, observations.length);
        uint256 w = weight;
        for (uint256 k; k < len;) {
            uint256 observation = observations[k];
            if (observation > ONE) revert ObservationOutOfRange(k, observation);
            bytes32 id = ids[k];
            records[id] = _fold(records[id], observation, w);
            unchecked {
                ++k;
            }
        }
        emit ReliabilityBatchUpdated(ids, observations);
    }

    /// @notice Adds `observations[k]`, weighted by `weights[k]`, to `ids[k]`'s evidence in `token`,
    ///         for every k, in one call. Nothing of the batch is written if an observation is
    ///         above ONE or the lengths differ.
    /// @dev An id may appear more than once; its observations are added in order.
    /// @param token The token the weights are in (address(0) for ETH).
    /// @param ids The sources.
    /// @param observations Observations in [0, ONE], one per id.
    /// @param weights Weights in `token`'s base units, one per id.
    function recordEvidence(
        address token,
        bytes32[] calldata ids,
        uint256[] calldata observations,
        uint256[] calldata weights
    ) external onlyRole(WRITER_ROLE) {
        uint256 len = ids.length;
        if (observations.length != len) revert LengthMismatch(len, observations.length);
        if (weights.length != len) revert LengthMismatch(len, weights.length);
        for (uint256 k; k < len;) {
            uint256 observation = observations[k];
            if (observation > ONE) revert ObservationOutOfRange(k, observation);
            mapping(address => uint256) storage e = evidenceOf[ids[k]];
            e[token] = _add(e[token], observation, weights[k]);
            unchecked {
                ++k;
            }
        }
        emit EvidenceRecorded(token, ids, observations, weights);
    }

    /// @notice A source's evidence in `token` (all zero if it was never observed in that token).
    /// @param id The source.
    /// @param token The token (address(0) for ETH).
    /// @return The evidence.
    function evidence(bytes32 id, address token) external view returns (Evidence memory) {
        return _unpackEvidence(evidenceOf[id][token]);
    }

    /// @notice Evidence of many sources in one token.
    /// @param ids The sources.
    /// @param token The token (address(0) for ETH).
    /// @return out `out[k]` is the evidence of `ids[k]`.
    function evidenceBatch(bytes32[] calldata ids, address token) external view returns (Evidence[] memory out) {
        out = new Evidence[](ids.length);
        for (uint256 k; k < ids.length; ++k) {
            out[k] = _unpackEvidence(evidenceOf[ids[k]][token]);
        }
    }

    /// @notice A source's weighted mean observation in `token` and the total weight behind it.
    /// @param id The source.
    /// @param token The token (address(0) for ETH).
    /// @return mean `weightedSum * ONE / weight`, in [0, ONE] (0 without evidence).
    /// @return totalWeight The sum of the weights, in `token`'s base units.
    function weightedMean(bytes32 id, address token) external view returns (uint256 mean, uint256 totalWeight) {
        Evidence memory e = _unpackEvidence(evidenceOf[id][token]);
        totalWeight = e.weight;
        if (totalWeight != 0) mean = (uint256(e.weightedSum) * ONE) / totalWeight;
    }

    /// @notice A source's record (all zero if it was never observed).
    /// @param id The source.
    /// @return The record.
    function get(bytes32 id) external view returns (Record memory) {
        return _unpack(records[id]);
    }

    /// @notice Records of many sources.
    /// @param ids The sources.
    /// @return out `out[k]` is the record of `ids[k]`.
    function getBatch(bytes32[] calldata ids) external view returns (Record[] memory out) {
        out = new Record[](ids.length);
        for (uint256 k; k < ids.length; ++k) {
            out[k] = _unpack(records[ids[k]]);
        }
    }

    /// @dev The record of a packed slot (score | observations << 64 | lastUpdate << 128).
    function _unpack(uint256 packed) internal pure returns (Record memory) {
        return Record(uint64(packed), uint64(packed >> 64), uint64(packed >> 128));
    }

    /// @dev The packed record after folding in `observation` (<= ONE) with weight `w` (<= ONE).
    function _fold(uint256 packed, uint256 observation, uint256 w) internal view returns (uint256) {
        uint256 score = packed & type(uint64).max;
        uint256 count = (packed >> 64) & type(uint64).max;
        unchecked {
            if (count == 0) {
                score = observation;
            } else if (observation >= score) {
                score += (w * (observation - score)) / ONE;
            } else {
                score -= (w * (score - observation) + ONE - 1) / ONE;
            }
            // score <= ONE < 2^64; the count cannot realistically reach 2^64.
            return score | ((count + 1) << 64) | (block.timestamp << 128);
        }
    }

    /// @dev The evidence of a packed slot (weight | weightedSum << 112 | observations << 224).
    function _unpackEvidence(uint256 packed) internal pure returns (Evidence memory) {
        return Evidence(uint112(packed), uint112(packed >> 112), uint32(packed >> 224));
    }

    /// @dev The packed evidence after adding `observation` (<= ONE) with weight `w`. The weight
    ///      saturates at 2^112 - 1 (`w` is cut to the room left), so that the packed fields never
    ///      overflow: `weightedSum` grows by at most the weight added and stays <= `weight`.
    function _add(uint256 packed, uint256 observation, uint256 w) internal pure returns (uint256) {
        uint256 total = packed & type(uint112).max;
        uint256 sum = (packed >> 112) & type(uint112).max;
        uint256 count = packed >> 224;
        unchecked {
            uint256 room = type(uint112).max - total;
            if (w > room) w = room;
            // w < 2^112 and observation <= ONE < 2^60: no overflow; sum + w * observation / ONE
            // <= total + w <= 2^112 - 1. The count cannot realistically reach 2^32.
            total += w;
            sum += (w * observation) / ONE;
            return total | (sum << 112) | ((count + 1) << 224);
        }
    }

    /// @dev Reverts with InvalidWeight unless 0 < w <= ONE.
    function _checkWeight(uint256 w) internal pure {
        if (w == 0 || w > ONE) revert InvalidWeight(w);
    }
}
