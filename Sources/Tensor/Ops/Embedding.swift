extension Tensor {
    /// Rows of a [vocabulary, dim] table for integer ids of any shape; the result is ids.shape + [dim].
    /// The gradient is scattered (added) back into the used rows.
    public static func embedding(_ table: Tensor, ids: [Int], idsShape: [Int]) -> Tensor {
        precondition(table.rank == 2, "an embedding table is [vocabulary, dim], got \(table.shape)")
        precondition(idsShape.elementCount == ids.count, "\(ids.count) ids for shape \(idsShape)")
        return table.indexSelect(axis: 0, ids).reshaped(idsShape + [table.shape[1]])
    }

    /// Rows `ids` of a bfloat16 table, widened to `Float` (exact); the table has no gradient.
    public static func embedding(_ table: BFloat16Matrix, ids: [Int], idsShape: [Int]) -> Tensor {
        precondition(idsShape.elementCount == ids.count, "\(ids.count) ids for shape \(idsShape)")
        let d = table.columns
        return Tensor(shape: idsShape + [d]) { out in
            for (i, id) in ids.enumerated() {
                precondition(id >= 0 && id < table.rows, "id \(id) outside a table of \(table.rows) rows")
                table.decode(rows: id..<(id + 1), columns: 0..<d, into: out.baseAddress! + i * d)
            }
        }
    }
}
