/// A list that keeps its first four elements inline and only the rest in an array: the
/// ops of a reply (one for a read, two for an image write) and the segments of a frame
/// (at most four) then cost no heap allocation, where an `Array` costs one per list.
///
/// It is a random-access, mutable collection, built from an array literal or appended
/// to, and equal to another when their elements are.
package struct SmallArray<Element>: RandomAccessCollection, MutableCollection {
    // Inlinable throughout, so that other modules (the image layer) specialise it: used
    // generically, its subscript's accessor allocates a frame per call.
    @usableFromInline var first0: Element?
    @usableFromInline var first1: Element?
    @usableFromInline var first2: Element?
    @usableFromInline var first3: Element?
    /// Elements from index 4 on (empty, and unallocated, for four or fewer).
    @usableFromInline var rest: [Element] = []
    @usableFromInline var storedCount = 0

    @inlinable package var count: Int { storedCount }

    @inlinable package init() {}

    /// One element (an array literal would make an array for its variadic arguments).
    /// Labelled: unlabelled, `SmallArray(someArray)` would make a list of one array.
    @inlinable package init(single element: Element) {
        append(element)
    }

    /// Two elements, in order.
    @inlinable package init(_ first: Element, _ second: Element) {
        append(first)
        append(second)
    }

    @inlinable package init<S: Sequence>(_ elements: S) where S.Element == Element {
        for element in elements { append(element) }
    }

    @inlinable package var startIndex: Int { 0 }
    @inlinable package var endIndex: Int { count }

    @inlinable package subscript(position: Int) -> Element {
        get {
            precondition(position >= 0 && position < count, "SmallArray index \(position) out of range 0..<\(count)")
            switch position {
            case 0: return first0.unsafelyUnwrapped
            case 1: return first1.unsafelyUnwrapped
            case 2: return first2.unsafelyUnwrapped
            case 3: return first3.unsafelyUnwrapped
            default: return rest[position - Self.inlineCount]
            }
        }
        set {
            precondition(position >= 0 && position < count, "SmallArray index \(position) out of range 0..<\(count)")
            switch position {
            case 0: first0 = newValue
            case 1: first1 = newValue
            case 2: first2 = newValue
            case 3: first3 = newValue
            default: rest[position - Self.inlineCount] = newValue
            }
        }
    }

    /// The first element: read directly (the collection's default goes through the
    /// subscript's `read` accessor, whose frame is allocated per call).
    @inlinable package var first: Element? { storedCount > 0 ? first0 : nil }

    /// Iterates through the concrete subscript, for the same reason.
    package struct Iterator: IteratorProtocol {
        @usableFromInline let elements: SmallArray
        @usableFromInline var index = 0

        @inlinable init(_ elements: SmallArray) {
            self.elements = elements
        }

        @inlinable package mutating func next() -> Element? {
            guard index < elements.storedCount else { return nil }
            defer { index += 1 }
            return elements[index]
        }
    }

    @inlinable package func makeIterator() -> Iterator { Iterator(self) }

    @inlinable package mutating func append(_ element: Element) {
        switch storedCount {
        case 0: first0 = element
        case 1: first1 = element
        case 2: first2 = element
        case 3: first3 = element
        default: rest.append(element)
        }
        storedCount += 1
    }

    /// Room for `capacity` elements in all (only the part past the inline four allocates).
    @inlinable package mutating func reserveCapacity(_ capacity: Int) {
        if capacity > Self.inlineCount { rest.reserveCapacity(capacity - Self.inlineCount) }
    }

    /// How many elements are kept inline.
    @inlinable static var inlineCount: Int { 4 }
}

/// (A literal's elements arrive as an array: the hot paths use the initializers above.)
extension SmallArray: ExpressibleByArrayLiteral {
    @inlinable package init(arrayLiteral elements: Element...) {
        self.init(elements)
    }
}

extension SmallArray: Equatable where Element: Equatable {
    @inlinable package static func == (lhs: SmallArray, rhs: SmallArray) -> Bool {
        lhs.elementsEqual(rhs)
    }
}

extension SmallArray: Hashable where Element: Hashable {
    @inlinable package func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for element in self { hasher.combine(element) }
    }
}

extension SmallArray: Sendable where Element: Sendable {}

extension SmallArray: CustomStringConvertible {
    @inlinable package var description: String { Array(self).description }
}
