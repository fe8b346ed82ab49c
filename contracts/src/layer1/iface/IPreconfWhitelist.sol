// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IPreconfWhitelist
/// @notice Owner-managed list of preconfers. Rotation: L1 block `n` belongs to epoch
/// `n / epochLength`, whose operator is `operators[epoch % operators.length]`.
interface IPreconfWhitelist {
    event OperatorAdded(address indexed operator);
    event OperatorRemoved(address indexed operator);
    event EpochLengthSet(uint64 epochLength);

    error OperatorAlreadyAdded(address operator);
    error OperatorNotFound(address operator);
    error InvalidEpochLength();

    /// @return The operator allowed to propose at the current L1 block, or address(0) if the list is empty.
    function currentOperator() external view returns (address);

    function operatorAt(uint256 l1BlockNumber) external view returns (address);
}
