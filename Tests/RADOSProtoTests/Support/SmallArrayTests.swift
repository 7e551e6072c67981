import Testing
@testable import RADOSProto

/// `SmallArray` against `Array` as the model: the same elements in the same order
/// whether they sit inline or past the inline four, through appends, literals,
/// subscripts and equality.
@Suite struct SmallArrayTests {
    @Test(arguments: [0, 1, 2, 3, 4, 5, 9])
    func itHoldsWhatAnArrayHolds(count: Int) {
        let model = (0..<count).map { "e\($0)" }
        var small = SmallArray<String>()
        small.reserveCapacity(count)
        for element in model { small.append(element) }
        #expect(Array(small) == model)
        #expect(small.count == count)
        #expect(small == SmallArray(model))
        #expect(small.hashValue == SmallArray(model).hashValue)
        // Every position can be replaced, inline or not.
        var changed = small
        var changedModel = model
        for index in model.indices {
            changed[index] = "x\(index)"
            changedModel[index] = "x\(index)"
        }
        #expect(Array(changed) == changedModel)
        #expect(count == 0 || changed != small)
        #expect(Array(small) == model, "a copy's changes leave the original alone")
    }

    @Test func literalsAndDescriptionsMatchArrays() {
        let small: SmallArray = [1, 2, 3, 4, 5, 6]
        #expect(Array(small) == [1, 2, 3, 4, 5, 6])
        #expect(small.description == [1, 2, 3, 4, 5, 6].description)
        #expect(small != [1, 2, 3, 4, 5])
        #expect(small.first == 1 && small.last == 6)
    }
}
