//===- Shapes.cpp - source-level shapes from debug info -------------------===//
//
// What a parameter or return value looks like in the source: its size, the
// kind of value that carries it, and for structs the field table the kernel
// reads. Everything here comes from debug info, never from IR types.
//
//===----------------------------------------------------------------------===//

#include "KcovDataflow.h"

#include "llvm/BinaryFormat/Dwarf.h"

namespace kcovdf {

namespace {

const DIType *stripQualifiers(const DIType *T) {
  while (auto *D = dyn_cast_or_null<DIDerivedType>(T)) {
    switch (D->getTag()) {
    case dwarf::DW_TAG_typedef:
    case dwarf::DW_TAG_const_type:
    case dwarf::DW_TAG_volatile_type:
    case dwarf::DW_TAG_restrict_type:
    case dwarf::DW_TAG_atomic_type:
      T = D->getBaseType();
      continue;
    default:
      return T;
    }
  }
  return T;
}

uint64_t typeSizeInBits(const DIType *T) {
  T = stripQualifiers(T);
  return T ? T->getSizeInBits() : 0;
}

bool isStructTag(unsigned Tag) {
  return Tag == dwarf::DW_TAG_structure_type || Tag == dwarf::DW_TAG_class_type;
}

std::string typeName(const DIType *T, unsigned Depth = 0) {
  if (!T)
    return "void";
  if (Depth > 16)
    return "?";
  if (auto *B = dyn_cast<DIBasicType>(T))
    return B->getName().str();
  if (auto *C = dyn_cast<DICompositeType>(T)) {
    std::string Name =
        C->getName().empty() ? "<anonymous>" : C->getName().str();
    switch (C->getTag()) {
    case dwarf::DW_TAG_structure_type:
      return "struct " + Name;
    case dwarf::DW_TAG_union_type:
      return "union " + Name;
    case dwarf::DW_TAG_enumeration_type:
      return "enum " + Name;
    case dwarf::DW_TAG_class_type:
      return "class " + Name;
    case dwarf::DW_TAG_array_type:
      return typeName(C->getBaseType(), Depth + 1) + "[]";
    default:
      return Name;
    }
  }
  if (isa<DISubroutineType>(T))
    return "function";
  auto *D = dyn_cast<DIDerivedType>(T);
  if (!D)
    return "?";
  std::string Base = typeName(D->getBaseType(), Depth + 1);
  const DIType *BaseT = stripQualifiers(D->getBaseType());
  bool BaseIsPointer = BaseT && isa<DIDerivedType>(BaseT) &&
                       BaseT->getTag() == dwarf::DW_TAG_pointer_type &&
                       D->getBaseType() == BaseT;
  switch (D->getTag()) {
  case dwarf::DW_TAG_typedef:
    return D->getName().str();
  case dwarf::DW_TAG_pointer_type:
    return Base + (Base.back() == '*' ? "*" : " *");
  case dwarf::DW_TAG_reference_type:
    return Base + " &";
  case dwarf::DW_TAG_rvalue_reference_type:
    return Base + " &&";
  case dwarf::DW_TAG_const_type:
    return BaseIsPointer ? Base + " const" : "const " + Base;
  case dwarf::DW_TAG_volatile_type:
    return BaseIsPointer ? Base + " volatile" : "volatile " + Base;
  case dwarf::DW_TAG_restrict_type:
    return Base + " restrict";
  case dwarf::DW_TAG_atomic_type:
    return "_Atomic " + Base;
  default:
    return Base;
  }
}

// A member's byte range; bitfields widen to the bytes that hold their bits.
Field fieldOf(const DIDerivedType *M, uint64_t Bits) {
  uint64_t OffBits = M->getOffsetInBits();
  Field F;
  F.Name = M->getName().str();
  F.Offset = OffBits / 8;
  F.Size = (OffBits + Bits + 7) / 8 - F.Offset;
  if (M->isBitField()) {
    F.BitOffset = OffBits - 8 * F.Offset;
    F.BitSize = Bits;
  }
  return F;
}

// One (offset, size) pair per direct non-static member in declaration order.
std::vector<Field> computeFieldTable(const DICompositeType *CT) {
  std::vector<Field> Fields;
  for (const DINode *E : CT->getElements()) {
    auto *M = dyn_cast_or_null<DIDerivedType>(E);
    if (!M || M->getTag() != dwarf::DW_TAG_member || M->isStaticMember())
      continue;
    uint64_t Bits = M->getSizeInBits();
    if (!Bits)
      Bits = typeSizeInBits(M->getBaseType());
    if (!Bits)
      continue; // zero-size members, flexible arrays
    Fields.push_back(fieldOf(M, Bits));
  }
  return Fields;
}

ValueClass classOf(const DIType *U) {
  if (auto *B = dyn_cast<DIBasicType>(U)) {
    switch (B->getEncoding()) {
    case dwarf::DW_ATE_float:
    case dwarf::DW_ATE_complex_float:
      return ValueClass::Float;
    case dwarf::DW_ATE_signed:
    case dwarf::DW_ATE_unsigned:
    case dwarf::DW_ATE_signed_char:
    case dwarf::DW_ATE_unsigned_char:
    case dwarf::DW_ATE_boolean:
    case dwarf::DW_ATE_UTF:
      return ValueClass::Integer;
    default:
      return ValueClass::Any;
    }
  }
  if (auto *C = dyn_cast<DICompositeType>(U))
    return C->getTag() == dwarf::DW_TAG_enumeration_type ? ValueClass::Integer
                                                          : ValueClass::Any;
  if (U->getTag() == dwarf::DW_TAG_pointer_type ||
      U->getTag() == dwarf::DW_TAG_reference_type ||
      U->getTag() == dwarf::DW_TAG_rvalue_reference_type)
    return ValueClass::Pointer;
  return ValueClass::Any;
}

} // namespace

const FieldTables::Entry &FieldTables::entry(const DICompositeType *CT) {
  std::unique_ptr<Entry> &E = Cache[CT];
  if (!E) {
    E = std::make_unique<Entry>();
    E->Fields = computeFieldTable(CT);
    E->Total = E->Fields.size();
    if (MaxFields && E->Fields.size() > MaxFields)
      E->Fields.resize(MaxFields); // the first ones, in declaration order
  }
  return *E;
}

const std::vector<Field> &FieldTables::get(const DICompositeType *CT) {
  return entry(CT).Fields;
}

size_t FieldTables::total(const DICompositeType *CT) {
  return entry(CT).Total;
}

Shape shapeOf(const DIType *T, FieldTables &Tables) {
  Shape S;
  S.TypeName = typeName(T);
  const DIType *U = stripQualifiers(T);
  if (!U)
    return S;
  S.Class = classOf(U);
  if (auto *D = dyn_cast<DIDerivedType>(U)) {
    unsigned Tag = D->getTag();
    if (Tag == dwarf::DW_TAG_pointer_type ||
        Tag == dwarf::DW_TAG_reference_type ||
        Tag == dwarf::DW_TAG_rvalue_reference_type) {
      S.Size = D->getSizeInBits() ? D->getSizeInBits() / 8 : 8;
      auto *Pointee =
          dyn_cast_or_null<DICompositeType>(stripQualifiers(D->getBaseType()));
      if (Pointee && isStructTag(Pointee->getTag()) &&
          !Tables.get(Pointee).empty()) {
        S.Kind = ShapeKind::StructPtr;
        S.Struct = Pointee;
        S.Fields = &Tables.get(Pointee);
        S.StructFields = Tables.total(Pointee);
      }
      return S;
    }
    S.Size = (typeSizeInBits(U) + 7) / 8;
    return S;
  }
  if (auto *C = dyn_cast<DICompositeType>(U)) {
    S.Size = (C->getSizeInBits() + 7) / 8;
    unsigned Tag = C->getTag();
    if (Tag == dwarf::DW_TAG_enumeration_type)
      return S;
    S.Kind = ShapeKind::Aggregate;
    S.PassByRef = C->getFlags() & DINode::FlagTypePassByReference;
    if (isStructTag(Tag) && !Tables.get(C).empty()) {
      S.Struct = C;
      S.Fields = &Tables.get(C);
      S.StructFields = Tables.total(C);
    }
    return S;
  }
  S.Size = (U->getSizeInBits() + 7) / 8;
  return S;
}

DISubprogram *fullSubprogram(const Function &F) {
  DISubprogram *SP = F.getSubprogram();
  if (!SP || !SP->getType() || !SP->getUnit() ||
      SP->getUnit()->getEmissionKind() != DICompileUnit::FullDebug)
    return nullptr;
  return SP;
}

std::vector<SourceParam> sourceParams(const DISubprogram *SP) {
  auto Types = SP->getType()->getTypeArray();
  std::vector<SourceParam> Params;
  for (unsigned I = 1; I < Types.size(); ++I) {
    SourceParam P;
    P.Idx = I - 1;
    P.Type = Types[I];
    Params.push_back(std::move(P));
  }
  for (const DINode *N : SP->getRetainedNodes())
    if (auto *V = dyn_cast<DILocalVariable>(N))
      if (V->getArg() && V->getArg() <= Params.size())
        Params[V->getArg() - 1].Name = V->getName().str();
  return Params;
}

} // namespace kcovdf
