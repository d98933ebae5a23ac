//===- KcovDataflow.h - kcov dataflow pass plugin, shared parts -*- C++ -*-===//
//
// The plugin has three stages:
//
//   ParamTags.cpp   at the start of the pipeline, while clang's lowering is
//                   still intact, tag each IR argument with the source
//                   parameter (and byte offset within it) it carries;
//   Planning.cpp    at OptimizerLast, decide from those tags which value to
//                   record for each parameter and each return, or none;
//   Emission.cpp    insert the callbacks and the field tables;
//   Layout.cpp      describe every emitted call (JSON Lines file, and records
//                   bound to each function by address in .kcovdf_layout).
//
//===----------------------------------------------------------------------===//

#ifndef KCOVDF_DATAFLOW_H
#define KCOVDF_DATAFLOW_H

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kcovdf {

using namespace llvm;

// String attributes that carry the frontend's lowering to OptimizerLast.
// Dead-argument elimination and argument promotion keep the attributes of
// the arguments they keep; arguments they create or rewrite have none.
inline constexpr StringRef ParamTagAttr = "kcovdf-param";
inline constexpr StringRef RetTagAttr = "kcovdf-ret";

// The slot through which values not already in memory are passed.
inline constexpr uint64_t SlotSize = 16;

// The kernel clamps record size fields to 8 bits.
inline constexpr uint64_t MaxWireSize = 255;

//===----------------------------------------------------------------------===//
// Source-level shapes, from debug info (Shapes.cpp).
//===----------------------------------------------------------------------===//

struct Field {
  std::string Name;
  uint64_t Offset = 0; // bytes
  uint64_t Size = 0;   // bytes read (bitfields: the bytes holding the bits)
  // Bitfields: the first bit within the bytes above (least significant bit
  // first) and the width. Zero width: not a bitfield.
  uint64_t BitOffset = 0, BitSize = 0;
};

enum class ShapeKind {
  Scalar,    // integers, enums, bools, floats, plain pointers: spilled
  StructPtr, // pointer to a struct/class with a field table: passed as is
  Aggregate, // struct/union/class by value: its in-memory copy is passed
};

// What kind of IR value may carry a scalar of this source type.
enum class ValueClass { Integer, Float, Pointer, Any };

struct Shape {
  ShapeKind Kind = ShapeKind::Scalar;
  ValueClass Class = ValueClass::Any;
  uint64_t Size = 0; // bytes; the arg_size/ret_size passed (8 for StructPtr)
  const DICompositeType *Struct = nullptr; // owner of the field table, if any
  const std::vector<Field> *Fields = nullptr; // its table, when Struct is set
  // How many fields the struct has: more than Fields holds when the table
  // was capped (-kcovdf-dataflow-max-fields).
  size_t StructFields = 0;
  bool PassByRef = false; // C++ types passed through a hidden reference
  std::string TypeName;

  bool capped() const { return Fields && StructFields > Fields->size(); }
};

// Field tables by struct type; kernel structs are large and used often.
// With MaxFields > 0 a table holds at most the struct's first MaxFields
// fields: records get shorter and cheaper, and lose the fields after them.
class FieldTables {
public:
  explicit FieldTables(unsigned MaxFields = 0) : MaxFields(MaxFields) {}
  // The fields a record carries.
  const std::vector<Field> &get(const DICompositeType *CT);
  // How many fields the struct has, whether or not its table is capped.
  size_t total(const DICompositeType *CT);

private:
  struct Entry {
    std::vector<Field> Fields;
    size_t Total = 0;
  };
  const Entry &entry(const DICompositeType *CT);

  unsigned MaxFields;
  // Plans keep pointers to the tables: they must not move when the map
  // grows.
  DenseMap<const DICompositeType *, std::unique_ptr<Entry>> Cache;
};

Shape shapeOf(const DIType *T, FieldTables &Tables);

// The subprogram of a function whose unit has full debug info: parameter
// types, names and struct members. Line-tables-only units (-g1, -gmlt)
// describe no types, so their functions have no usable shape.
DISubprogram *fullSubprogram(const Function &F);

// The source parameters of a subprogram, in order (index 0 is the first
// parameter; the return type is not among them).
struct SourceParam {
  unsigned Idx = 0;
  std::string Name;
  const DIType *Type = nullptr;
};
std::vector<SourceParam> sourceParams(const DISubprogram *SP);

//===----------------------------------------------------------------------===//
// Tagging at the start of the pipeline (ParamTags.cpp).
//===----------------------------------------------------------------------===//

// One argument's tag: it carries bytes [Offset, Offset + its store size) of
// source parameter Idx, which arrived in Pieces arguments in all; or, when
// Indirect, it points at the parameter's storage.
struct ParamTag {
  unsigned Idx = 0;
  bool Indirect = false;
  uint64_t Offset = 0;
  unsigned Pieces = 1;

  std::string str() const;
  static std::optional<ParamTag> parse(StringRef S);
};

// Tags every defined function of the module; returns true if any changed.
bool tagModule(Module &M);

// Reads the tag of an argument, if any.
std::optional<ParamTag> readTag(const Argument &A);

// Removes every tag of the module (they must not reach the object file).
void stripTags(Module &M);


//===----------------------------------------------------------------------===//
// What to record (Planning.cpp).
//===----------------------------------------------------------------------===//

enum class Source {
  Spill,   // store Vals[0] to the slot, pass the slot
  Pieces,  // store Vals[i] at byte Offsets[i] of the zeroed slot, pass it
  Pointer, // pass Vals[0] itself (struct pointer, in-memory copy)
};

struct TracePlan {
  Source How = Source::Spill;
  SmallVector<Value *, 2> Vals;
  SmallVector<uint64_t, 2> Offsets; // Pieces only
};

// Why a parameter or return value is not recorded (counted in -stats).
enum class SkipReason {
  Untagged,  // no argument carries it any more (removed, promoted, split)
  Partial,   // only some of the arguments that carried it remain
  Dead,      // callers in this module may pass poison for it
  Mismatch,  // the argument's type does not fit the source type
  Rewritten, // the return type is no longer the one clang lowered
  Undefined, // the returned value is (partly) poison or undef
  NoSlot,    // larger than the 16-byte slot
  MustTail,  // a musttail call precedes the return
  Count
};

// The name of a reason in -stats and in the layout's "skipped" entries.
const char *skipReasonName(SkipReason R);

struct ParamPlan {
  SourceParam Param;
  Shape S;
  std::optional<TracePlan> Plan; // none: skipped for Why
  SkipReason Why = SkipReason::Untagged;
};

struct RetPlan {
  ReturnInst *RI = nullptr;
  bool Record = false;           // emit a return record here
  std::optional<TracePlan> Plan; // the value (none for void)
  SkipReason Why = SkipReason::Untagged;
};

struct FunctionPlan {
  std::vector<ParamPlan> Params;
  bool Marker = false; // no parameter recorded: the no-parameter marker
  bool Void = false;
  Shape Ret;
  std::vector<RetPlan> Rets;

  unsigned recordedArgs() const;
  unsigned recordedRets() const;
};

// Decides, for every parameter and return of F, the value to record. Only
// values proven to be the source's are planned: an argument still carrying
// its tag, or the return value of the type clang lowered it to.
FunctionPlan planFunction(Function &F, const DISubprogram *SP,
                          FieldTables &Tables, bool Args, bool Rets);

//===----------------------------------------------------------------------===//
// Inserting the callbacks (Emission.cpp).
//===----------------------------------------------------------------------===//

class Emitter {
public:
  explicit Emitter(Module &M);

  // Inserts the planned calls into F; returns what their pc names: F, or
  // for a definition another object may replace, a private alias of it.
  GlobalValue *emit(Function &F, const DISubprogram *SP,
                    const FunctionPlan &FP);

private:
  Module &M;
  LLVMContext &Ctx;
  FunctionCallee TraceArgs, TraceRet;
  DenseMap<const DICompositeType *, GlobalVariable *> Tables;

  GlobalValue *pcTarget(Function &F);
  Constant *tableFor(const Shape &S, unsigned &NumFields);
  Value *valuePointer(IRBuilder<> &B, const TracePlan &Plan, AllocaInst *&Slot);
};

//===----------------------------------------------------------------------===//
// Layout description (Layout.cpp).
//===----------------------------------------------------------------------===//

// The layout of one instrumented function as a JSON object (docs/layout.md).
std::string layoutJSON(const Function &F, const FunctionPlan &Plan);

// Adds a record binding the layout to the function's address: a constant in
// the section .kcovdf_layout (allocated in objects; the kernel's linker
// script keeps it as a non-allocated section) with the function's address,
// the JSON length, a version and the JSON.
// Returns null on targets whose pointers are not 64 bits wide (the record's
// pc word is a 64-bit relocation).
GlobalVariable *addLayoutRecord(Module &M, GlobalValue *Target,
                                StringRef JSON);

inline constexpr StringRef LayoutSection = ".kcovdf_layout";
inline constexpr uint32_t LayoutRecordVersion = 1;

// Writes the module's layout lines to a new file in Dir.
Error writeLayoutFile(const Module &M, StringRef Dir, StringRef Lines);

} // namespace kcovdf

#endif
