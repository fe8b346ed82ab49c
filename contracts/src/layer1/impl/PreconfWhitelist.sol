// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {EssentialContract} from "../../shared/EssentialContract.sol";
import {IPreconfWhitelist} from "../iface/IPreconfWhitelist.sol";

/// @title PreconfWhitelist
/// @notice See IPreconfWhitelist for the rotation rule. Removing an operator moves the last one
/// into its place, so the rotation order changes from the next L1 block on.
contract PreconfWhitelist is EssentialContract, IPreconfWhitelist {
    address[] internal _operators;
    mapping(address operator => bool) public isOperator;
    uint64 public epochLength;

    uint256[47] private __gap;

    function initialize(address owner_, uint64 epochLength_, address[] calldata operators_) external initializer {
        __Essential_init(owner_);
        _setEpochLength(epochLength_);
        for (uint256 i; i < operators_.length; ++i) {
            _addOperator(operators_[i]);
        }
    }

    function addOperator(address operator) external onlyOwner {
        _addOperator(operator);
    }

    function removeOperator(address operator) external onlyOwner {
        if (!isOperator[operator]) revert OperatorNotFound(operator);
        uint256 last = _operators.length - 1;
        for (uint256 i; i <= last; ++i) {
            if (_operators[i] == operator) {
                _operators[i] = _operators[last];
                _operators.pop();
                break;
            }
        }
        isOperator[operator] = false;
        emit OperatorRemoved(operator);
    }

    function setEpochLength(uint64 epochLength_) external onlyOwner {
        _setEpochLength(epochLength_);
    }

    function operators() external view returns (address[] memory) {
        return _operators;
    }

    function currentOperator() external view returns (address) {
        return operatorAt(block.number);
    }

    function operatorAt(uint256 l1BlockNumber) public view returns (address) {
        uint256 count = _operators.length;
        if (count == 0) return address(0);
        return _operators[(l1BlockNumber / epochLength) % count];
    }

    function _addOperator(address operator) internal {
        if (operator == address(0)) revert ZeroAddress();
        if (isOperator[operator]) revert OperatorAlreadyAdded(operator);
        isOperator[operator] = true;
        _operators.push(operator);
        emit OperatorAdded(operator);
    }

    function _setEpochLength(uint64 epochLength_) internal {
        if (epochLength_ == 0) revert InvalidEpochLength();
        epochLength = epochLength_;
        emit EpochLengthSet(epochLength_);
    }
}
