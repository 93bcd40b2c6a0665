extension Tensor {
    /// Rows of a [vocabulary, dim] table for integer ids of any shape; the result is ids.shape + [dim].
    /// The gradient is scattered (added) back into the used rows.
    public static func embedding(_ table: Tensor, ids: [Int], idsShape: [Int]) -> Tensor {
        precondition(table.rank == 2, "an embedding table is [vocabulary, dim], got \(table.shape)")
        precondition(idsShape.elementCount == ids.count, "\(ids.count) ids for shape \(idsShape)")
        return table.indexSelect(axis: 0, ids).reshaped(idsShape + [table.shape[1]])
    }
}
